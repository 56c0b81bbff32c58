"""The REST front door: the Kubernetes API over HTTP(S), for kubectl and the official clients.

:mod:`.app` checks health, authentication and faults and hands a request on;
:mod:`.routing` maps its path to discovery or to a resource; :mod:`.handlers`
has one handler per verb over the registry; :mod:`.watch` streams events;
:mod:`.messages` decodes bodies and encodes responses; :mod:`.discovery`,
:mod:`.openapi` (with :mod:`.openapi_paths`) and :mod:`.tables` (with the
:mod:`.columns` data and :mod:`.cells` logic) publish what clients read;
:mod:`.tls` and :mod:`.serving` run it (uvicorn, certificates, kubeconfig).
"""
