"""Files in and out: the user's tables, resources, the bundled samples, exported configs."""
