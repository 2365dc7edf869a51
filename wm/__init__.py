"""The ``wm`` command line and run pipeline: thin glue over ``envs``, ``worldmodel``, ``agents``."""
