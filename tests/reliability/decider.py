"""A child process that records decisions and says so on stdout; the tests kill it at chosen moments.

``python -m tests.reliability.decider PROJECT loop SEED COUNT``: decide COUNT pairs (decisions drawn with
SEED) as fast as it can, printing a JSON line before each ``set_decision`` and one after it returns, then
wait to be killed.
``python -m tests.reliability.decider PROJECT serve``: open the project for writing, print ``{"open": true}``,
then decide one pair per stdin line ``INDEX DECISION`` (printing it), until stdin closes.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import astuple

from lcmem.store.project import Project
from lcmem.store.queries import list_pairs
from lcmem.store.types import DECISIONS, PairKey


def say(**fields: object) -> None:
    """One JSON line on stdout, flushed."""
    print(json.dumps(fields), flush=True)


def decide(project: Project, key: PairKey, decision: str, index: int) -> None:
    """Say which decision is being made, make it, then say it is made (after ``set_decision`` returned)."""
    say(deciding=index, key=astuple(key), decision=decision)
    project.set_decision(key, decision, "child", note=f"decision {index}")
    say(decided=index, key=astuple(key), decision=decision)


def main(argv: list[str]) -> None:
    """Run the mode named in ``argv``."""
    project = Project.open(argv[0])
    pairs = list_pairs(project)
    if argv[1] == "loop":
        rng = random.Random(int(argv[2]))
        for index in range(int(argv[3])):
            decide(project, pairs[index % len(pairs)].key, rng.choice(DECISIONS), index)
        say(done=True)
        time.sleep(3600)
    say(open=True)
    for line in sys.stdin:
        index, decision = line.split()
        decide(project, pairs[int(index)].key, decision, int(index))
    project.close()


if __name__ == "__main__":
    main(sys.argv[1:])
