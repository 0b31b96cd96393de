locals {
  environment = "staging"
}

# Staging has prod's shape (same modules, same security settings) at a lower cost:
# one NAT gateway, single-AZ PostgreSQL, a single-instance broker, one DocumentDB instance.
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

  single_nat_gateway = true

  node_min_size     = 2
  node_desired_size = 2
  node_max_size     = 4

  rds_multi_az                 = false
  rds_backup_retention_days    = 7
  rds_allocated_storage_gb     = 20
  rds_max_allocated_storage_gb = 100

  mq_deployment_mode = "SINGLE_INSTANCE"

  docdb_instance_count        = 1
  docdb_backup_retention_days = 7

  ecr_repository_name = "sonrisa-staging"
}
