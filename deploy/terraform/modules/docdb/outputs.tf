output "endpoint" {
  description = "Cluster (writer) endpoint host. CLINIC_MONGO_URL is mongodb://USER:PASSWORD@<endpoint>:27017/?tls=true&tlsCAFile=/etc/sonrisa/rds-ca/global-bundle.pem&replicaSet=rs0&readPreference=primary&retryWrites=false."
  value       = aws_docdb_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Load-balanced endpoint over the replicas."
  value       = aws_docdb_cluster.this.reader_endpoint
}

output "port" {
  description = "Port of the cluster."
  value       = aws_docdb_cluster.this.port
}

output "master_secret_arn" {
  description = "Secrets Manager secret with the master user's credentials."
  value       = aws_secretsmanager_secret.master.arn
}

output "security_group_id" {
  description = "Security group of the cluster."
  value       = aws_security_group.this.id
}
