provider "aws" {
  region = var.region

  # Every resource says what it is and that it holds health data, for cost reports and
  # for the data inventory the GDPR asks for (record of processing activities).
  default_tags {
    tags = {
      Project            = "sonrisa"
      Environment        = local.environment
      DataClassification = "health"
      ManagedBy          = "terraform"
    }
  }
}

locals {
  environment  = "prod"
  name         = "sonrisa-${local.environment}"
  cluster_name = "sonrisa-${local.environment}"
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  eks_cluster_name   = local.cluster_name
  # One NAT gateway per zone: losing a zone does not cut the others off from ECR, the
  # SMS provider or the mail server.
  single_nat_gateway = false
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
  node_min_size            = 3
  node_desired_size        = 3
  node_max_size            = 9
  secret_reader_policy_arn = module.secrets.reader_policy_arn
}

module "rds" {
  source = "../../modules/rds"

  name                     = "${local.name}-pg"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  instance_class           = var.rds_instance_class
  multi_az                 = true
  backup_retention_days    = 35
}

module "mq" {
  source = "../../modules/mq"

  name                     = "${local.name}-mq"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.node_security_group_id
  deployment_mode          = "CLUSTER_MULTI_AZ"
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
  instance_count           = 3
  backup_retention_days    = 14
  credentials_kms_key_arn  = module.secrets.kms_key_arn
}

module "ecr" {
  source = "../../modules/ecr"

  repository_name = "sonrisa"
}
