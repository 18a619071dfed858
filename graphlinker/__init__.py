"""graphlinker: expose coordinated account rings behind model-distillation campaigns.

The path through the code is input → graph → clusters → report:
``inputs`` → ``store`` → ``linking`` → ``detection`` → ``scoring`` → ``report``,
ordered by ``pipeline`` and driven by ``cli``.
"""

__version__ = "0.1.0"
