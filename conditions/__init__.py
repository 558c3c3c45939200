"""The condition algebra: composable, explainable rules deciding what a request may use."""
