"""Server (c): LitServe with its own dynamic batching, serving the same TorchScript artifact.

It takes the same V2 request body on the same path and answers with the same V2 response body, so the
shared load client and the payload sizes are identical across servers. Written the way LitServe's docs
write a batched API (decode per request, batch, predict, unbatch, encode per request); nothing tuned.
"""

from __future__ import annotations

import argparse

import litserve as ls
import torch

DTYPES = {"FP32": torch.float32, "INT64": torch.int64}


class TorchScriptAPI(ls.LitAPI):
    def __init__(self, model_uri: str, model_name: str, **kwargs):
        super().__init__(api_path=f"/v2/models/{model_name}/infer", **kwargs)
        self.model_uri, self.model_name = model_uri, model_name

    def setup(self, device):
        self.model = torch.jit.load(self.model_uri, map_location="cpu").eval()

    def decode_request(self, request):
        tensor = request["inputs"][0]
        return torch.tensor(tensor["data"], dtype=DTYPES[tensor["datatype"]]).reshape(tensor["shape"])

    def batch(self, inputs):
        self._rows = [x.shape[0] for x in inputs]
        return torch.cat(inputs)

    def predict(self, x):
        with torch.inference_mode():
            return self.model(x)

    def unbatch(self, output):
        return list(output.split(self._rows))

    def encode_response(self, output):
        return {
            "model_name": self.model_name,
            "outputs": [
                {"name": "output__0", "shape": list(output.shape), "datatype": "FP32", "data": output.flatten().tolist()}
            ],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-queue-delay-ms", type=float, default=5.0)
    args = parser.parse_args()
    api = TorchScriptAPI(
        args.model_uri, args.model_name, max_batch_size=args.max_batch_size, batch_timeout=args.max_queue_delay_ms / 1e3
    )
    server = ls.LitServer(api, accelerator="cpu", devices=1, workers_per_device=1, healthcheck_path="/v2/health/ready")
    server.run(host="127.0.0.1", port=args.port, num_api_servers=1, generate_client_file=False, log_level="warning")


if __name__ == "__main__":
    main()
