"""One module per page; each has a render() the navigation calls."""
