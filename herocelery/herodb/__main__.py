"""``python -m herocelery.herodb serve ...``"""
from .cli import main

main()
