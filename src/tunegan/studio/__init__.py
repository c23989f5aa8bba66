"""The web studio: a beginner-friendly page over :mod:`tunegan.api` (needs ``pip install tunegan[studio]``).

* :mod:`.handlers` - checking input and calling the library (no gradio; unit-tested);
* :mod:`.learn` - the Learn tab's lessons and their examples;
* :mod:`.app` - the Gradio page (``build_studio``) and a safe ``launch_studio``.

Start it with ``tunegan studio`` or::

    from tunegan.studio import build_studio, launch_studio
    launch_studio(build_studio(checkpoint=None))
"""

from __future__ import annotations

__all__ = ["build_studio", "launch_studio"]


def __getattr__(name: str):
    if name in __all__:  # gradio is heavy and optional: import it only when the page is wanted
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'tunegan.studio' has no attribute '{name}'")
