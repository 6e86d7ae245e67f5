"""Reads HeroScript (parser, playbooks, typed params, handlers); never touches the host."""
from .handlers import DECLINE, Call, Registry
from .model import Action, Text
from .parser import parse, parse_items
from .playbook import Playbook
from .serialize import action_hash, serialize
from .typed import Params

__all__ = ["Action", "Text", "parse", "parse_items", "Playbook", "Registry", "Call",
           "DECLINE", "Params", "serialize", "action_hash"]
