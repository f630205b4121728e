"""hooklab.sim: a SimPy discrete-event simulator of webhook delivery to flaky receivers."""
