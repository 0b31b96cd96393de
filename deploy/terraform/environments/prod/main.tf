locals {
  environment = "prod"
}

module "sonrisa" {
  source = "../../modules/sonrisa"

  environment = local.environment

  region                  = var.region
  availability_zones      = var.availability_zones
  vpc_cidr                = var.vpc_cidr
  kubernetes_version      = var.kubernetes_version
  eks_public_access_cidrs = var.eks_public_access_cidrs
  eks_admin_role_arns     = var.eks_admin_role_arns
  node_instance_types     = var.node_instance_types
  rds_instance_class      = var.rds_instance_class
  docdb_instance_class    = var.docdb_instance_class
  app_secret_name         = var.app_secret_name

  # One NAT gateway per zone: losing a zone does not cut the others off from ECR, the
  # SMS provider or the mail server.
  single_nat_gateway = false

  node_min_size     = 3
  node_desired_size = 3
  node_max_size     = 9

  # 35 days of point-in-time recovery (RDS' maximum); the storage figures are the rds
  # module's defaults, which prod has always used.
  rds_multi_az                 = true
  rds_backup_retention_days    = 35
  rds_allocated_storage_gb     = 50
  rds_max_allocated_storage_gb = 500

  mq_deployment_mode = "CLUSTER_MULTI_AZ"

  docdb_instance_count        = 3
  docdb_backup_retention_days = 14

  ecr_repository_name = "sonrisa"
}
