from pathlib import Path

import pulumi
import pytest

from lepton_infra.components.kubernetes.serving_image import DEFAULT_CONTEXT, ServingImage
from lepton_infra.offline import run

from _support import rejected

IMAGE = "docker-build:index:Image"
REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving"
REGISTRY = {"server": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", "username": "AWS", "password": "tok"}


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "serving").mkdir()
    (tmp_path / "serving" / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unsecret(value):
    """(plain value, whether it was marked secret) of a recorded input."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return value["value"], True
    return value, False


def image_args(context: Path, **overrides):
    return {"context": str(context), "variant": "cuda", "repository_url": REPO, "tag": "0.1.0", "registry": REGISTRY, **overrides}


def build(context: Path, **overrides):
    return run(lambda: ServingImage("serving", image_args(context, **overrides))).one(IMAGE)


def test_image_is_pushed_under_the_repository_and_tag(context):
    image = build(context)
    assert image.inputs["push"] is True
    assert image.inputs["tags"] == [f"{REPO}:0.1.0"]


def test_image_builds_the_context_with_its_dockerfile_and_variant(context):
    image = build(context, variant="cpu")
    assert image.inputs["context"] == {"location": str(context.resolve())}
    assert image.inputs["dockerfile"] == {"location": str(context.resolve() / "serving" / "Dockerfile")}
    assert image.inputs["buildArgs"] == {"VARIANT": "cpu"}
    assert image.inputs["platforms"] == ["linux/amd64"]


def test_an_explicit_dockerfile_is_used(context):
    other = context / "Dockerfile.gpu"
    other.write_text("FROM scratch\n")
    assert build(context, dockerfile=str(other)).inputs["dockerfile"] == {"location": str(other.resolve())}


def test_push_logs_in_to_the_registry_host_with_its_credentials(context):
    registries, secret = unsecret(build(context).inputs["registries"])
    assert registries == [{"address": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "username": "AWS", "password": "tok"}]
    assert secret, "the registry password must travel as a secret"


def test_registry_credentials_may_be_an_output(context):
    def program():
        ServingImage("serving", image_args(context, registry=pulumi.Output.from_input(REGISTRY),
                                           repository_url=pulumi.Output.from_input(REPO)))

    image = run(program).one(IMAGE)
    assert unsecret(image.inputs["registries"])[0][0]["username"] == "AWS"
    assert image.inputs["tags"] == [f"{REPO}:0.1.0"]


def test_layers_are_cached_inline_in_the_pushed_image(context):
    image = build(context)
    assert image.inputs["cacheTo"] == [{"inline": {}}]
    assert image.inputs["cacheFrom"] == [{"registry": {"ref": f"{REPO}:0.1.0"}}]


def test_previews_do_not_build_unless_asked(context):
    assert build(context).inputs["buildOnPreview"] is False
    assert build(context, build_on_preview=True).inputs["buildOnPreview"] is True


def test_outputs_are_the_pushed_reference_with_digest(context):
    def program():
        img = ServingImage("serving", image_args(context))
        pulumi.export("ref", img.ref)
        pulumi.export("digest", img.digest)

    out = run(program).stack_outputs
    assert out["digest"].startswith("sha256:")
    assert out["ref"] == f"{REPO}@{out['digest']}"


def test_the_repositorys_own_serving_dockerfile_is_the_default():
    assert (DEFAULT_CONTEXT / "serving" / "Dockerfile").is_file()
    image = run(lambda: ServingImage("serving", {"repository_url": REPO, "tag": "0.1.0", "registry": REGISTRY})).one(IMAGE)
    assert image.inputs["context"] == {"location": str(DEFAULT_CONTEXT)}
    assert image.inputs["dockerfile"] == {"location": str(DEFAULT_CONTEXT / "serving" / "Dockerfile")}
    assert image.inputs["buildArgs"] == {"VARIANT": "cuda"}


def test_missing_context_is_rejected_naming_it_with_nothing_registered(tmp_path):
    error, plan = rejected(lambda: ServingImage("serving", image_args(tmp_path / "nope")))
    assert [path for path, _ in error.issues] == ["context"]
    assert plan.resources == []


def test_missing_dockerfile_is_rejected_naming_it_with_nothing_registered(tmp_path):
    error, plan = rejected(lambda: ServingImage("serving", image_args(tmp_path)))
    assert [path for path, _ in error.issues] == ["dockerfile"]
    assert plan.resources == []


@pytest.mark.parametrize("bad, field", [({"variant": "rocm"}, "variant"), ({"tag": "bad tag"}, "tag"),
                                        ({"platforms": ["windows/amd64"]}, "platforms[0]")])
def test_bad_args_are_rejected_naming_the_field(context, bad, field):
    error, plan = rejected(lambda: ServingImage("serving", image_args(context, **bad)))
    assert [path for path, _ in error.issues] == [field]
    assert plan.resources == []
