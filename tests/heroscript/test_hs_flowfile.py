"""Flows written in HeroScript give the same dict (and model) as the equivalent YAML."""
from __future__ import annotations

import pytest
import yaml

from herocelery.errors import HeroScriptError
from herocelery.heroscript.flowfile import flow_spec_from_heroscript

HERO = """# ETL flow

Extract, then double.

!!flow.define name:etl context:default

!!flow.job name:extract runner:python
    script:'
        result = [1, 2, 3]
        '

!!flow.job name:double runner:rhai after:extract retries:2 timeout:30s
    script:'
        let out = [];
        for x in INPUTS.extract { out.push(x * 2); }
        out
        '

!!flow.job name:report runner:heroscript after:'extract, double' node:node1
    allow_failure:yes retry_backoff:250ms timeout:1h30m
    env:'MODE:test,LEVEL:3'
    args:'{"limit": 10, "tags": ["a"]}'
    script:'
        !!job.result json:'{inputs.double}'
        '
"""

YAML = """
name: etl
context: default
jobs:
  extract:
    runner: python
    script: "result = [1, 2, 3]"
  double:
    runner: rhai
    after: [extract]
    retries: 2
    timeout: 30.0
    script: |-
      let out = [];
      for x in INPUTS.extract { out.push(x * 2); }
      out
  report:
    runner: heroscript
    after: [extract, double]
    node: node1
    allow_failure: true
    retry_backoff: 0.25
    timeout: 5400.0
    env: {MODE: test, LEVEL: "3"}
    args: {limit: 10, tags: [a]}
    script: "!!job.result json:'{inputs.double}'"
"""


def test_same_dict_as_the_yaml_file() -> None:
    assert flow_spec_from_heroscript(HERO, "etl.md") == yaml.safe_load(YAML)


def test_only_given_keys_appear() -> None:
    spec = flow_spec_from_heroscript("!!flow.define name:x\n!!flow.job name:a runner:shell\n",
                                     "x.hero")
    assert spec == {"name": "x", "jobs": {"a": {"runner": "shell"}}}


def test_same_model_as_yaml_through_the_flow_loader() -> None:
    load = pytest.importorskip("herocelery.flow.load")
    from_hero = load.parse_text(HERO, "etl.md", ".md")
    from_yaml = load.parse_text(YAML, "etl.yaml", ".yaml")
    assert from_hero == from_yaml


@pytest.mark.parametrize("text,line,col,reason", [
    ("!!flow.job name:a runner:python\n", 1, 1, "missing !!flow.define"),
    ("!!flow.define\n", 1, 1, "needs name"),
    ("!!flow.define name:x\n!!flow.job runner:python script:x\n", 2, 1, "needs name"),
    ("!!flow.define name:x\n!!flow.job name:a\n", 2, 1, "needs runner"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p\n    colour:red\n", 3, 5,
     "unknown param 'colour'"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p retries:two\n", 2, 28, "'retries'"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p timeout:soon\n", 2, 28, "'timeout'"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p allow_failure:perhaps\n", 2, 28,
     "'allow_failure'"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p args:'{bad'\n", 2, 28, "invalid JSON"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p env:'novalue'\n", 2, 28, "key:value"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p\n!!flow.job name:a runner:p\n", 3, 12,
     "defined twice"),
    ("!!flow.define name:x\n!!flow.define name:y\n", 2, 1, "given twice"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p allow_failure\n", 2, 1,
     "allow_failure:true"),
    ("!!flow.define name:x\n!!db.set key:a\n", 2, 1, "unknown action !!db.set"),
    ("!!flow.define name:x\n!!flow.job name:a runner:p script:'oops\n", 2, 35, "unterminated"),
])
def test_errors_are_positioned(text: str, line: int, col: int, reason: str) -> None:
    with pytest.raises(HeroScriptError) as info:
        flow_spec_from_heroscript(text, "f.hero")
    err = info.value
    assert (err.file, err.line, err.column) == ("f.hero", line, col), str(err)
    assert reason in err.reason


def test_a_heroscript_job_with_its_own_block_uses_the_triple_opener() -> None:
    text = """!!flow.define name:x
!!flow.job name:a runner:heroscript
    script:'''
        !!play.echo text:'
            hello
            '
        '''
"""
    spec = flow_spec_from_heroscript(text, "x.hero")
    assert spec["jobs"]["a"]["script"] == "!!play.echo text:'\n    hello\n    '"
