"""Deciding in latent space: planners, costs, MPC / oracle / baseline agents, evaluation."""
