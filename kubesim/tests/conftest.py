"""kubesim's own tests: a fresh server per test (`kubesim`) and the official client on it (`kube_client`)."""

pytest_plugins = ["kubesim.testing"]
