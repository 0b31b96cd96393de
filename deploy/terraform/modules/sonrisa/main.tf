# The whole of Sonrisa on AWS, composed once: each environment (../../environments/*) calls
# this module with its own sizes, so staging and prod cannot drift apart in shape or in
# security settings. The provider (region, default tags) and the state backend stay in the
# environment's root.

locals {
  name         = "sonrisa-${var.environment}"
  cluster_name = "sonrisa-${var.environment}"
}

module "network" {
  source = "../network"

  name               = local.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  eks_cluster_name   = local.cluster_name
  single_nat_gateway = var.single_nat_gateway
}

module "secrets" {
  source = "../secrets"

  name            = local.name
  app_secret_name = var.app_secret_name
}

module "eks" {
  source = "../eks"

  cluster_name             = local.cluster_name
  kubernetes_version       = var.kubernetes_version
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  public_access_cidrs      = var.eks_public_access_cidrs
  admin_role_arns          = var.eks_admin_role_arns
  node_instance_types      = var.node_instance_types
  node_min_size            = var.node_min_size
  node_desired_size        = var.node_desired_size
  node_max_size            = var.node_max_size
  secret_reader_policy_arn = module.secrets.reader_policy_arn
}

module "rds" {
  source = "../rds"

  name                     = "${local.name}-pg"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_class           = var.rds_instance_class
  multi_az                 = var.rds_multi_az
  backup_retention_days    = var.rds_backup_retention_days
  allocated_storage_gb     = var.rds_allocated_storage_gb
  max_allocated_storage_gb = var.rds_max_allocated_storage_gb
}

module "mq" {
  source = "../mq"

  name                     = "${local.name}-mq"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  deployment_mode          = var.mq_deployment_mode
  instance_type            = var.mq_instance_type
  credentials_kms_key_arn  = module.secrets.kms_key_arn
}

module "docdb" {
  source = "../docdb"

  name                     = "${local.name}-docdb"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_class           = var.docdb_instance_class
  instance_count           = var.docdb_instance_count
  backup_retention_days    = var.docdb_backup_retention_days
  credentials_kms_key_arn  = module.secrets.kms_key_arn
}

module "ecr" {
  source = "../ecr"

  repository_name = var.ecr_repository_name
}
