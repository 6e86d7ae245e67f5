"""Reads HeroScript (parser, playbooks, typed params, handlers); never touches the host."""
from .model import Action, Text
from .parser import parse, parse_items

__all__ = ["Action", "Text", "parse", "parse_items"]
