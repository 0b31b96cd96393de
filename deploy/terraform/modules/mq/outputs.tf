output "amqps_endpoint" {
  description = "amqps://host:5671 of the broker (cluster: the load-balanced endpoint). CLINIC_RABBITMQ_URL is amqps://USER:PASSWORD@host:5671/."
  value       = aws_mq_broker.this.instances[0].endpoints[0]
}

output "broker_id" {
  description = "Id of the broker (its logs are under /aws/amazonmq/broker/<id>/general)."
  value       = aws_mq_broker.this.id
}

output "admin_secret_arn" {
  description = "Secrets Manager secret with the broker administrator's credentials."
  value       = aws_secretsmanager_secret.admin.arn
}

output "security_group_id" {
  description = "Security group of the broker."
  value       = aws_security_group.this.id
}
