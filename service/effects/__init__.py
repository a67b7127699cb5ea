"""What the migration caused: per-service weekly panels (``panel``), the metrics judged (``registry``),
a staggered difference-in-differences (``did``) and worlds with a known truth to check it (``world``)."""
