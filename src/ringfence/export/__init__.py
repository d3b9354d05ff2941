"""What the one policy compiles to outside ringfence's own sandbox: a container seccomp
profile (``seccomp``) and, next, container command lines, compose files, Kubernetes
manifests and an Envoy configuration."""
