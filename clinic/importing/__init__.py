"""`clinic import`: records brought in from another system's export. Reading the file and
mapping its rows to commands is pure (`sheet`, `patients`); `registering` sends them."""
