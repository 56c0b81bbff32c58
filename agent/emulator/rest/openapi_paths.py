"""The paths of the OpenAPI documents: one operation per verb a resource type serves.

What kubectl looks for in them (``fieldValidation`` among the parameters of a
kind's PATCH, ``x-kubernetes-group-version-kind`` on each operation) and
what ``kubectl explain`` shows; the schemas and documents themselves are
made in :mod:`agent.emulator.rest.openapi`.
"""

from __future__ import annotations

from agent.emulator.objects import JSON
from agent.kube.kinds import ResourceType

STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
SCALE = "io.k8s.api.autoscaling.v1.Scale"
PATCH_TYPES = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
]
# A custom resource takes no strategic merge patch (it has no Go type to carry patch
# strategies), and its documents say so: apiextensions-apiserver's OpenAPI builder.
# kubectl's client-side apply picks a merge patch from this list.
CUSTOM_PATCH_TYPES = [t for t in PATCH_TYPES if "strategic" not in t]


def _param(name: str, where: str, description: str, *, required: bool = False, kind: str = "string") -> JSON:
    return {
        "name": name,
        "in": where,
        "description": description,
        "required": required,
        "schema": {"type": kind},
        "uniqueItems": True,
    }


_PRETTY = _param("pretty", "query", "If 'true', then the output is pretty printed.")
_DRY_RUN = _param("dryRun", "query", "When present, modifications are not persisted. Valid value: All")
_FIELD_MANAGER = _param("fieldManager", "query", "A name associated with the actor making the changes.")
_FIELD_VALIDATION = _param(
    "fieldValidation",
    "query",
    "How to handle unknown or duplicate fields in the request: Ignore, Warn (the default) or Strict.",
)
_FORCE = _param("force", "query", "Force is going to force Apply requests.", kind="boolean")
_LIST_PARAMS = [
    _param("labelSelector", "query", "A selector to restrict the list of returned objects by their labels."),
    _param("fieldSelector", "query", "A selector to restrict the list of returned objects by their fields."),
    _param("limit", "query", "The maximum number of responses to return for a list call.", kind="integer"),
    _param("continue", "query", "The continue option should be set when retrieving more results."),
    _param("resourceVersion", "query", "Where to start a list or watch from."),
    _param("watch", "query", "Watch for changes to the described resources.", kind="boolean"),
    _param("allowWatchBookmarks", "query", "Request watch events of type BOOKMARK.", kind="boolean"),
    _param("timeoutSeconds", "query", "Timeout for the list/watch call.", kind="integer"),
]


def _operation(
    action: str,
    rt: ResourceType,
    ref: str,
    v3: bool,
    params: list[JSON],
    *,
    body: str = "",
    custom: bool = False,
) -> JSON:
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    verb = {
        "get": "read",
        "list": "list",
        "post": "create",
        "put": "replace",
        "patch": "patch",
        "delete": "delete",
        "deletecollection": "deletecollection",
    }[action]
    group_id = "".join(p.capitalize() for p in (rt.group or "core").split(".")[:1]) + rt.version.capitalize()
    op: JSON = {
        "description": f"{verb} {rt.kind}",
        "operationId": f"{verb}{group_id}{rt.kind}",
        "tags": [f"{rt.group or 'core'}_{rt.version}"],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    response = {"$ref": ref}
    patch_types = CUSTOM_PATCH_TYPES if custom else PATCH_TYPES
    if v3:
        op["parameters"] = params
        op["responses"] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": response}}},
            "401": {"description": "Unauthorized"},
        }
        if body:
            media = patch_types if action == "patch" else ["application/json", "application/yaml"]
            schema = {"$ref": body}
            op["requestBody"] = {"content": {m: {"schema": schema} for m in media}, "required": True}
    else:
        op["parameters"] = params + (
            [{"name": "body", "in": "body", "required": True, "schema": {"$ref": body}}] if body else []
        )
        op["parameters"] = [_v2_param(p) for p in op["parameters"]]
        op["responses"] = {
            "200": {"description": "OK", "schema": response},
            "401": {"description": "Unauthorized"},
        }
        op["consumes"] = patch_types if action == "patch" else ["*/*"]
        op["produces"] = ["application/json", "application/yaml"]
        op["schemes"] = ["https"]
    return op


def _v2_param(param: JSON) -> JSON:
    if param.get("in") == "body":
        return param
    out = {k: v for k, v in param.items() if k != "schema"}
    out["type"] = param.get("schema", {}).get("type", "string")
    return out


def resource_paths(
    rt: ResourceType, names: tuple[str, str], v3: bool, name_path: str = "{name}", *, custom: bool = False
) -> dict[str, JSON]:
    """The paths of one resource type in one version: collection, item and subresources
    (``custom``: a custom resource's, whose PATCH takes no strategic merge patch)."""
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    item_ref, list_ref = prefix + names[0], prefix + (names[1] or STATUS)
    status_ref = prefix + STATUS
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    ns_param = _param("namespace", "path", "object name and auth scope", required=True)
    name_param = _param("name", "path", f"name of the {rt.kind}", required=True)
    scope = [ns_param] if rt.namespaced else []
    collection = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    write = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    verbs = set(rt.verbs)
    paths: dict[str, JSON] = {}
    coll: JSON = {"parameters": [*scope, _PRETTY]}
    if "list" in verbs:
        coll["get"] = _operation("list", rt, list_ref, v3, _LIST_PARAMS)
    if "create" in verbs:
        coll["post"] = _operation("post", rt, item_ref, v3, write, body=item_ref)
    if "deletecollection" in verbs:
        coll["delete"] = _operation(
            "deletecollection",
            rt,
            status_ref,
            v3,
            [_DRY_RUN, *_LIST_PARAMS[:3]],
            body=prefix + DELETE_OPTIONS,
        )
    paths[collection] = coll
    if rt.namespaced and "list" in verbs:
        paths[f"{base}/{rt.plural}"] = {
            "parameters": [_PRETTY],
            "get": _operation("list", rt, list_ref, v3, _LIST_PARAMS),
        }
    # kubectl looks for fieldValidation among the parameters of the path with the kind's PATCH.
    item: JSON = {"parameters": [name_param, *scope, _PRETTY, _FIELD_VALIDATION]}
    if "get" in verbs:
        item["get"] = _operation("get", rt, item_ref, v3, [])
    if "update" in verbs:
        item["put"] = _operation("put", rt, item_ref, v3, write, body=item_ref)
    if "patch" in verbs:
        item["patch"] = _operation(
            "patch", rt, item_ref, v3, [*write, _FORCE], body=prefix + PATCH, custom=custom
        )
    if "delete" in verbs:
        item["delete"] = _operation("delete", rt, status_ref, v3, [_DRY_RUN], body=prefix + DELETE_OPTIONS)
    paths[f"{collection}/{name_path}"] = item
    for sub in rt.subresources:
        if sub not in ("status", "scale"):
            continue
        ref = prefix + SCALE if sub == "scale" else item_ref
        paths[f"{collection}/{name_path}/{sub}"] = {
            "parameters": [name_param, *scope, _PRETTY],
            "get": _operation("get", rt, ref, v3, []),
            "put": _operation("put", rt, ref, v3, write, body=ref),
            "patch": _operation("patch", rt, ref, v3, [*write, _FORCE], body=prefix + PATCH, custom=custom),
        }
    return paths
