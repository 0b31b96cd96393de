# What the operator of this environment may set (-var or an uncommitted terraform.tfvars).
# Full descriptions and the validations (EU region only, three zones of it, no 0.0.0.0/0 on
# the Kubernetes API, ...) are on the variables of ../../modules/sonrisa, which checks them.

variable "region" {
  type        = string
  description = "AWS region; EU only (eu-south-2 is Spain)."
  default     = "eu-south-2"
}

variable "availability_zones" {
  type        = list(string)
  description = "Three zones of the region."
  default     = ["eu-south-2a", "eu-south-2b", "eu-south-2c"]
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 range of the VPC; must not overlap a peered or VPN-connected network."
  default     = "10.20.0.0/16"
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the EKS cluster."
  default     = "1.34"
}

variable "eks_public_access_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the Kubernetes API from the internet; empty keeps it private to the VPC."
  default     = []
}

variable "eks_admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin on EKS."
  default     = []
}

variable "node_instance_types" {
  type        = list(string)
  description = "EC2 instance types of the EKS nodes."
  default     = ["m6i.large"]
}

variable "rds_instance_class" {
  type        = string
  description = "Instance class of the PostgreSQL event store."
  default     = "db.m6g.large"
}

variable "docdb_instance_class" {
  type        = string
  description = "Instance class of the DocumentDB instances."
  default     = "db.r6g.large"
}

variable "app_secret_name" {
  type        = string
  description = "Secrets Manager secret synced into the Kubernetes Secret sonrisa-secrets."
  default     = "sonrisa/prod/app"
}
