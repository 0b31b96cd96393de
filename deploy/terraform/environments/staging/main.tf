provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project            = "sonrisa"
      Environment        = local.environment
      DataClassification = "test" # staging must never hold real patients' data
      ManagedBy          = "terraform"
    }
  }
}

locals {
  environment  = "staging"
  name         = "sonrisa-${local.environment}"
  cluster_name = "sonrisa-${local.environment}"
}

# Staging has prod's shape (same modules, same security settings) at a lower cost:
# one NAT gateway, single-AZ PostgreSQL, a single-instance broker, one DocumentDB instance.

module "network" {
  source = "../../modules/network"

  name               = local.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  eks_cluster_name   = local.cluster_name
  single_nat_gateway = true
}

module "secrets" {
  source = "../../modules/secrets"

  name            = local.name
  app_secret_name = var.app_secret_name
}

module "eks" {
  source = "../../modules/eks"

  cluster_name             = local.cluster_name
  kubernetes_version       = var.kubernetes_version
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  public_access_cidrs      = var.eks_public_access_cidrs
  admin_role_arns          = var.eks_admin_role_arns
  node_instance_types      = var.node_instance_types
  node_min_size            = 2
  node_desired_size        = 2
  node_max_size            = 4
  secret_reader_policy_arn = module.secrets.reader_policy_arn
}

module "rds" {
  source = "../../modules/rds"

  name                     = "${local.name}-pg"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_class           = var.rds_instance_class
  multi_az                 = false
  backup_retention_days    = 7
  allocated_storage_gb     = 20
  max_allocated_storage_gb = 100
}

module "mq" {
  source = "../../modules/mq"

  name                     = "${local.name}-mq"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  deployment_mode          = "SINGLE_INSTANCE"
  instance_type            = "mq.m5.large"
  credentials_kms_key_arn  = module.secrets.kms_key_arn
}

module "docdb" {
  source = "../../modules/docdb"

  name                     = "${local.name}-docdb"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_class           = var.docdb_instance_class
  instance_count           = 1
  backup_retention_days    = 7
  credentials_kms_key_arn  = module.secrets.kms_key_arn
}

module "ecr" {
  source = "../../modules/ecr"

  repository_name = "sonrisa-staging"
}
