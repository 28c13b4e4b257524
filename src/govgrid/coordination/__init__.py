"""统筹 coordination: hosting lower levels, targets and tasks down the tree, assets, compute pools."""
