"""The job store's Lua scripts as package data; `herocelery.store_lua` loads them."""
