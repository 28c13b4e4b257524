"""One-stop public services (一网通办): items, BPMN workflows, bundles, applications, e-certificates."""
