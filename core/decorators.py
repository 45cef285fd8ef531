"""View decorators the shared middleware honours."""

from functools import wraps


def allows_camera(view_func):
    """Let this view's pages use the camera (scanning a card's QR code): `camera=(self)`.

    Every other page denies it (core.middleware.PermissionsPolicyMiddleware).
    """

    @wraps(view_func)
    def wrapper(*args, **kwargs):
        return view_func(*args, **kwargs)

    wrapper.allowed_browser_features = getattr(
        view_func, "allowed_browser_features", frozenset()
    ) | {"camera"}
    return wrapper
