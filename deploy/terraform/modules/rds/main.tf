data "aws_partition" "current" {}

module "key" {
  source = "../kms"

  name        = "${var.name}-rds"
  description = "Encrypts the ${var.name} PostgreSQL storage, snapshots, Performance Insights and master password secret."
}

module "logs_key" {
  source = "../kms"

  name                = "${var.name}-rds-logs"
  description         = "Encrypts the ${var.name} PostgreSQL logs in CloudWatch."
  for_cloudwatch_logs = true
}

# RDS exports to these names; creating them first sets encryption and retention.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.key_arn
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
}

resource "aws_security_group" "this" {
  name        = "${var.name}-postgres"
  description = "PostgreSQL ${var.name}: reachable only from the EKS nodes"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-postgres" }
}

resource "aws_vpc_security_group_ingress_rule" "from_nodes" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the EKS nodes"
  referenced_security_group_id = var.client_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-pg16"
  family      = "postgres16"
  description = "Sonrisa: TLS only, no query parameters in logs"

  # Clients without TLS are refused (CLINIC_DATABASE_URL carries sslmode=verify-full).
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "ssl_min_protocol_version"
    value = "TLSv1.2"
  }

  # Schema changes and slow statements are logged, but never their bound values: a
  # statement's parameters are patient data (names, notes) and must not reach CloudWatch.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_parameter_max_length"
    value = "0"
  }

  parameter {
    name  = "log_parameter_max_length_on_error"
    value = "0"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  # checkov:skip=CKV_AWS_157: Multi-AZ is a variable: prod sets rds_multi_az = true (environments/prod/main.tf, through modules/sonrisa); staging runs single-AZ to halve the cost and holds no real patient data.
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.database_name
  port           = 5432

  # The master password is created and rotated by RDS in Secrets Manager: it is never in
  # terraform state. The app connects as its own role (deploy/terraform/README.md).
  username                      = "sonrisa_admin"
  manage_master_user_password   = true
  master_user_secret_kms_key_id = module.key.key_arn

  iam_database_authentication_enabled = true

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_encrypted     = true
  kms_key_id            = module.key.key_arn

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  ca_cert_identifier     = "rds-ca-rsa2048-g1"
  parameter_group_name   = aws_db_parameter_group.this.name

  # Automated backups + WAL archiving: point-in-time recovery to any second in the window.
  backup_retention_period  = var.backup_retention_days
  backup_window            = "02:00-03:00"
  maintenance_window       = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false

  deletion_protection       = true
  skip_final_snapshot       = !var.final_snapshot_on_delete
  final_snapshot_identifier = "${var.name}-final"

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  monitoring_interval             = var.monitoring_interval_seconds
  monitoring_role_arn             = aws_iam_role.monitoring.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = module.key.key_arn
  performance_insights_retention_period = 7

  depends_on = [aws_cloudwatch_log_group.exports]
}
