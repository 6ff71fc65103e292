"""Python client for baas.

    from baas_sdk import Client

    with Client("http://127.0.0.1:8080") as client:
        client.admin.login("admin@example.com", "secret")
        created = client.admin.projects.create("myapp", name="My App")
"""

from ._admin import AdminClient, AsyncAdminClient
from ._client import AsyncClient, Client
from ._exceptions import (
    APIError,
    BaasError,
    BadRequest,
    Conflict,
    ConnectError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ResponseError,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    ValidationError,
)
from ._models import AdminToken, ApiKey, CreatedProject, Page, Project

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AdminClient",
    "AdminToken",
    "ApiKey",
    "AsyncAdminClient",
    "AsyncClient",
    "BaasError",
    "BadRequest",
    "Client",
    "Conflict",
    "ConnectError",
    "CreatedProject",
    "Forbidden",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Project",
    "RateLimited",
    "ResponseError",
    "ServerError",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "ValidationError",
    "__version__",
]
