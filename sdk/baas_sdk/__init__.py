"""Python client for baas.

    from baas_sdk import Client, FileStore

    with Client("http://127.0.0.1:8080") as client:
        client.admin.login("admin@example.com", "secret")
        created = client.admin.projects.create("myapp", name="My App")

    with Client(url, project="myapp", api_key="pk_...",
                session_store=FileStore("~/.myapp/session.json")) as client:
        if client.auth.user is None:
            client.auth.sign_in("ada@example.com", "a long password")
        print(client.auth.me().email)
"""

from ._admin import AdminClient, AsyncAdminClient, AsyncUsers, Users
from ._admin_collections import AsyncCollections, Collections
from ._auth import AsyncAuth, Auth
from ._client import AsyncClient, Client
from ._collection_defs import (
    OPERATIONS,
    CollectionDef,
    CollectionRules,
    IndexDef,
    Operation,
    RuleCheck,
)
from ._document_types import BatchOp, BatchResult, Document, DocumentPage, ops
from ._documents import AsyncCollection, Collection
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
from ._limits import KeyLimits, KeyUsage, Limits, ProjectLimits
from ._models import (
    AdminToken,
    ApiKey,
    CreatedProject,
    Page,
    Project,
    Session,
    SessionInfo,
    SigningKey,
    SigningKeyRotation,
    User,
)
from ._session import FileStore, MemoryStore, SessionStore

__version__ = "0.1.0"

# The public surface: everything else (the ``_x`` modules) may change without notice.
__all__ = [
    "OPERATIONS",
    "APIError",
    "AdminClient",
    "AdminToken",
    "ApiKey",
    "AsyncAdminClient",
    "AsyncAuth",
    "AsyncUsers",
    "Auth",
    "AsyncClient",
    "AsyncCollection",
    "AsyncCollections",
    "BaasError",
    "BadRequest",
    "BatchOp",
    "BatchResult",
    "Client",
    "Collection",
    "Collections",
    "CollectionDef",
    "CollectionRules",
    "Conflict",
    "ConnectError",
    "CreatedProject",
    "Document",
    "DocumentPage",
    "FileStore",
    "Forbidden",
    "IndexDef",
    "KeyLimits",
    "KeyUsage",
    "Limits",
    "MemoryStore",
    "NotFound",
    "Operation",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Project",
    "ProjectLimits",
    "RateLimited",
    "ResponseError",
    "RuleCheck",
    "ServerError",
    "Session",
    "SessionInfo",
    "SessionStore",
    "SigningKey",
    "SigningKeyRotation",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "User",
    "Users",
    "ValidationError",
    "ops",
    "__version__",
]
