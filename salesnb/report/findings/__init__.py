"""Each report's findings ("what moved most"), composed from the views its notebook already computed."""
