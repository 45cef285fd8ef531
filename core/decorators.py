"""View decorators the shared middleware honours."""

from functools import wraps


def _allows(feature: str, view_func):
    @wraps(view_func)
    def wrapper(*args, **kwargs):
        return view_func(*args, **kwargs)

    wrapper.allowed_browser_features = getattr(
        view_func, "allowed_browser_features", frozenset()
    ) | {feature}
    return wrapper


def allows_camera(view_func):
    """Let this view's pages use the camera (scanning a card's QR code): `camera=(self)`.

    Every other page denies it (core.middleware.PermissionsPolicyMiddleware).
    """
    return _allows("camera", view_func)


def allows_microphone(view_func):
    """Let this view's pages use the microphone (recording an announcement):
    `microphone=(self)`; every other page denies it."""
    return _allows("microphone", view_func)
