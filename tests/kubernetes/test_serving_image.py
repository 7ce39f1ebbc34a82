import os
import re
import shutil
from pathlib import Path

import pulumi
import pytest

from lepton_infra.components.kubernetes.serving_image import ServingImage, context_files, packaged_context
from lepton_infra.testing import run

from _support import rejected

IMAGE = "docker-build:index:Image"
REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving"
REGISTRY = {"server": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", "username": "AWS", "password": "tok"}


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "serving").mkdir()
    (tmp_path / "serving" / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


SOURCES = packaged_context()  # where the serving sources installed with lepton-infra live (this checkout)


def image_args(context: Path, **overrides):
    return {"context": str(context), "variant": "cuda", "repository_url": REPO, "tag": "0.1.0", "registry": REGISTRY, **overrides}


def build(context: Path, **overrides):
    return run(lambda: ServingImage("serving", image_args(context, **overrides))).one(IMAGE)


def tag_of(context: Path, **overrides) -> str:
    """The content tag a ServingImage of ``context`` gets (a plain str, known at program time)."""
    images = []
    run(lambda: images.append(ServingImage("serving", image_args(context, **overrides))))
    return images[0].tag


CONTENT_TAG = re.compile(r"^0\.1\.0-[0-9a-f]{12}$")


@pytest.fixture
def serving_copy(tmp_path: Path) -> Path:
    """A context holding a copy of the repository's serving/ (with its Dockerfile and Dockerfile.dockerignore)."""
    context = tmp_path / "ctx"
    shutil.copytree(SOURCES / "serving", context / "serving", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (context / "README.md").write_text("# root readme, outside the image\n")
    return context


def test_image_is_pushed_under_the_repository_and_the_content_tag(context):
    image = build(context)
    assert image.inputs["push"] is True
    [tag] = image.inputs["tags"]
    assert tag.startswith(f"{REPO}:")
    assert CONTENT_TAG.match(tag.removeprefix(f"{REPO}:"))


def test_the_component_exposes_its_content_tag_as_a_plain_str(context):
    tag = tag_of(context)
    assert isinstance(tag, str) and CONTENT_TAG.match(tag)
    assert build(context).inputs["tags"] == [f"{REPO}:{tag}"]


def test_the_content_tag_is_stable_for_the_same_tree_wherever_it_lives(tmp_path, serving_copy):
    elsewhere = tmp_path / "another" / "checkout"
    shutil.copytree(serving_copy, elsewhere)
    for path in elsewhere.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))  # other mtimes, other absolute paths: same content
    assert tag_of(serving_copy) == tag_of(serving_copy) == tag_of(elsewhere)


def test_the_repositorys_own_context_ships_serving_only():
    files = context_files(SOURCES, SOURCES / "serving" / "Dockerfile")
    assert files and all(f.startswith("serving/") for f in files)
    assert {"serving/Dockerfile", "serving/app.py", "serving/requirements.txt"} <= set(files)
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


@pytest.mark.parametrize("change", [
    lambda c: (c / "serving" / "app.py").write_bytes((c / "serving" / "app.py").read_bytes() + b"\n# changed\n"),
    lambda c: (c / "serving" / "requirements.txt").write_text("numpy\n"),
    lambda c: (c / "serving" / "new_module.py").write_text("X = 1\n"),
    lambda c: (c / "serving" / "sub").mkdir() or (c / "serving" / "sub" / "data.json").write_text("{}"),
    lambda c: (c / "serving" / "protocol.py").unlink(),
    lambda c: (c / "serving" / "config.py").rename(c / "serving" / "settings.py"),
    lambda c: (c / "serving" / "Dockerfile.dockerignore").write_text("*\n!serving/\nserving/README.md\n"),
], ids=["edit", "requirements", "new-file", "new-subdir", "removed", "renamed", "ignore-file"])
def test_the_content_tag_changes_when_a_shipped_file_changes(serving_copy, change):
    before = tag_of(serving_copy)
    change(serving_copy)
    assert tag_of(serving_copy) != before


@pytest.mark.parametrize("change", [
    lambda c: (c / "serving" / "__pycache__").mkdir() or (c / "serving" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0"),
    lambda c: (c / "serving" / "stale.pyc").write_bytes(b"\0"),
    lambda c: (c / "README.md").write_text("# edited\n"),
    lambda c: (c / "tests").mkdir() or (c / "tests" / "test_x.py").write_text("def test(): pass\n"),
    lambda c: (c / ".git").mkdir() or (c / ".git" / "HEAD").write_text("ref: refs/heads/main\n"),
    lambda c: os.utime(c / "serving" / "app.py", (1_000_000, 1_000_000)),
], ids=["pycache", "pyc", "root-readme", "outside-serving", "dot-git", "mtime"])
def test_the_content_tag_ignores_what_the_dockerignore_leaves_out(serving_copy, change):
    before = tag_of(serving_copy)
    change(serving_copy)
    assert tag_of(serving_copy) == before


def test_the_content_tag_covers_the_dockerfile_variant_and_platforms(serving_copy):
    base = tag_of(serving_copy)
    assert tag_of(serving_copy, variant="cpu") != base
    assert tag_of(serving_copy, platforms=["linux/amd64", "linux/arm64"]) != base
    dockerfile = serving_copy / "serving" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "LABEL x=y\n")
    assert tag_of(serving_copy) != base


def test_the_dockerfiles_own_ignore_file_wins_over_the_contexts(context):
    (context / ".dockerignore").write_text("*\n")
    (context / "notes.txt").write_text("a")
    before = tag_of(context)  # the root .dockerignore applies: notes.txt is out
    (context / "notes.txt").write_text("b")
    assert tag_of(context) == before
    (context / "serving" / "Dockerfile.dockerignore").write_text("serving/\n")
    with_own = tag_of(context)  # now the Dockerfile's ignore file applies: notes.txt is in
    (context / "notes.txt").write_text("c")
    assert tag_of(context) != with_own


def test_dockerignore_semantics_anchor_patterns_and_reinclude(tmp_path):
    (tmp_path / "serving" / "deep").mkdir(parents=True)
    for rel in ["serving/Dockerfile", "serving/a.md", "serving/deep/b.md", "serving/deep/keep.md", "top.md", "x.txt"]:
        (tmp_path / rel).write_text(rel)
    # Docker, unlike .gitignore: "*.md" is anchored at the root (top.md only); "**/" spans directories; "!" re-includes.
    (tmp_path / "serving" / "Dockerfile.dockerignore").write_text("# comment\n*.md\nserving/**/b.md\n!serving/deep/keep.md\n")
    files = context_files(tmp_path, tmp_path / "serving" / "Dockerfile")
    assert files == ["serving/Dockerfile", "serving/Dockerfile.dockerignore", "serving/a.md", "serving/deep/keep.md", "x.txt"]


def test_a_malformed_ignore_pattern_is_rejected_naming_the_dockerfile_with_nothing_registered(context):
    (context / "serving" / "Dockerfile.dockerignore").write_text("[unterminated\n")
    error, plan = rejected(lambda: ServingImage("serving", image_args(context)))
    assert [path for path, _ in error.issues] == ["dockerfile"]
    assert "Dockerfile.dockerignore" in error.issues[0][1]
    assert plan.resources == []


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
    image = build(context)
    assert image.inputs["registries"] == [
        {"address": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "username": "AWS", "password": "tok"}
    ]
    assert image.is_secret("registries", 0, "password"), "the registry password must travel as a secret"
    assert "tok" not in str(image.masked_inputs())


def test_registry_credentials_may_be_an_output(context):
    def program():
        ServingImage("serving", image_args(context, registry=pulumi.Output.from_input(REGISTRY),
                                           repository_url=pulumi.Output.from_input(REPO)))

    image = run(program).one(IMAGE)
    assert image.inputs["registries"][0]["username"] == "AWS"
    assert image.inputs["tags"] == [f"{REPO}:{tag_of(context)}"]


def test_layers_are_cached_inline_in_the_pushed_image_under_the_content_tag(context):
    image = build(context)
    assert image.inputs["cacheTo"] == [{"inline": {}}]
    assert image.inputs["cacheFrom"] == [{"registry": {"ref": f"{REPO}:{tag_of(context)}"}}]
    assert image.inputs["cacheFrom"][0]["registry"]["ref"] == image.inputs["tags"][0]


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


def test_the_serving_sources_installed_with_the_library_are_the_default():
    assert (SOURCES / "serving" / "Dockerfile").is_file()
    image = run(lambda: ServingImage("serving", {"repository_url": REPO, "tag": "0.1.0", "registry": REGISTRY})).one(IMAGE)
    assert image.inputs["context"] == {"location": str(SOURCES)}
    assert image.inputs["dockerfile"] == {"location": str(SOURCES / "serving" / "Dockerfile")}
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
                                        ({"tag": "v" * 116}, "tag"),  # 116 + "-" + 12 hex > the registry's 128
                                        ({"platforms": ["windows/amd64"]}, "platforms[0]")])
def test_bad_args_are_rejected_naming_the_field(context, bad, field):
    error, plan = rejected(lambda: ServingImage("serving", image_args(context, **bad)))
    assert [path for path, _ in error.issues] == [field]
    assert plan.resources == []
