"""Configuration: flags over environment, and bad values exit 2 naming the option and the allowed values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server_support import ROOT, clean_env
from serving import config

BASE = ["--model-uri", "/m.pt", "--model-name", "m"]


def test_flags_override_environment():
    env = {"PORT": "9000", "MAX_BATCH_SIZE": "8", "DEVICE": "cpu", "MODEL_URI": "s3://b/env.pt", "MODEL_NAME": "e"}
    settings = config.parse(["--port", "9001"], env)
    assert (settings.port, settings.max_batch_size, settings.device) == (9001, 8, "cpu")
    assert (settings.model_uri, settings.model_name) == ("s3://b/env.pt", "e")
    assert config.parse(BASE, {}).max_queue_delay_ms == 5.0


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["--port", "http"], {}, "--port / PORT: invalid value 'http'"),
        (["--port", "70000"], {}, "an integer in 1..65535"),
        ([], {"MAX_BATCH_SIZE": "0"}, "--max-batch-size / MAX_BATCH_SIZE: invalid value '0' (from MAX_BATCH_SIZE)"),
        (["--max-queue-delay-ms", "-1"], {}, "a finite number >= 0"),
        (["--device", "tpu"], {}, "one of auto, cpu, cuda"),
        (["--log-level", "loud"], {}, "one of debug, info, warning, error"),
        (["--max-body-bytes", "1e6"], {}, "--max-body-bytes / MAX_BODY_BYTES"),
        (["--shutdown-grace-s", "nan"], {}, "--shutdown-grace-s / SHUTDOWN_GRACE_S"),
    ],
)
def test_bad_values_exit_2_naming_the_option(capsys, argv, env, needle):
    with pytest.raises(SystemExit) as exit_info:
        config.parse(BASE + argv, env)
    assert exit_info.value.code == 2
    assert needle in capsys.readouterr().err


def test_missing_model_uri_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        config.parse(["--model-name", "m"], {})
    assert exit_info.value.code == 2 and "--model-uri / MODEL_URI is required" in capsys.readouterr().err


def test_process_exits_2_on_a_bad_flag_and_on_a_missing_device():
    run = [sys.executable, "-m", "serving", *BASE]
    bad = subprocess.run([*run, "--max-batch-size", "lots"], cwd=ROOT, env=clean_env(), capture_output=True, text=True)
    assert bad.returncode == 2 and "--max-batch-size / MAX_BATCH_SIZE" in bad.stderr
    import torch

    if not torch.cuda.is_available():
        cuda = subprocess.run(run, cwd=ROOT, env=clean_env(DEVICE="cuda"), capture_output=True, text=True, timeout=60)
        assert cuda.returncode == 2 and "--device / DEVICE" in cuda.stderr
