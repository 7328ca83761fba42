"""The simulated controllers (kube-controller-manager's, a kubelet, and kubesim's add-ons),
run on their own thread after each stored change (hooks.py); runner.py builds them."""
