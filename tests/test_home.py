"""The test run leaves the user's home folder alone: caches and configuration go to a scratch folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import HOME_REDIRECTS, SCRATCH_HOME

WRITE_CACHES = """
import os, sys
from pathlib import Path
import torch.hub
os.makedirs(os.path.join(torch.hub.get_dir(), "checkpoints"), exist_ok=True)  # what torch.hub downloads do first
from huggingface_hub import constants
Path(constants.HF_HUB_CACHE).mkdir(parents=True, exist_ok=True)
import matplotlib
matplotlib.use("Agg")
from matplotlib import pyplot
pyplot.figure().savefig(sys.argv[1])
from lcmem.embed.cache import default_cache_dir
default_cache_dir().mkdir(parents=True, exist_ok=True)
import diffusers  # noqa: F401
"""


def test_the_suite_sends_home_torch_hf_matplotlib_and_xdg_folders_to_a_scratch_folder() -> None:
    for variable, folder in HOME_REDIRECTS.items():
        assert Path(os.environ[variable]) == SCRATCH_HOME / folder, variable
    assert Path.home() == SCRATCH_HOME / "home"


def test_caches_written_under_the_suite_s_environment_stay_out_of_the_home_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LCMEM_CACHE_DIR"} | {"HOME": str(home)}
    subprocess.run([sys.executable, "-c", WRITE_CACHES, str(tmp_path / "plot.png")], env=env, check=True)
    assert (tmp_path / "plot.png").is_file()
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
    assert (Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints").is_dir()
