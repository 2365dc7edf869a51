"""Worlds and their recordings: goal-conditioned MuJoCo environments, exploration, datasets.

Importing this package registers the ``wm/`` environment ids with gymnasium (the same
convention gymnasium and gymnasium-robotics follow); it has no other side effect.
"""

from envs.registration import register_all

register_all()
