# What an environment chooses. The operator-facing ones (region, zones, ranges, access,
# instance sizes, secret name) are the environment's own variables, passed through; the
# shape of the environment (NAT gateways, node counts, Multi-AZ, backups, broker mode,
# DocumentDB instances, repository name) is set in the environment's main.tf.

variable "environment" {
  type        = string
  description = "Environment name (staging, prod): resources are named sonrisa-<environment>."

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "Use a short lowercase name such as staging or prod."
  }
}

# --- Where, and who may reach it -------------------------------------------------------

variable "region" {
  type        = string
  description = "AWS region. Patient data is health data under the GDPR: keep it in the EU (eu-south-2 is Spain)."

  validation {
    condition     = can(regex("^eu-(south|west|central|north)-[0-9]$", var.region))
    error_message = "Sonrisa holds Spanish patients' health data: use an EU region (eu-*)."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Three zones of the region, named so the subnet layout is fixed (zone names map to different physical zones in each account; that does not matter here)."

  validation {
    condition     = length(var.availability_zones) == 3 && alltrue([for z in var.availability_zones : startswith(z, var.region)])
    error_message = "Give three zones of the chosen region (e.g. eu-south-2a, eu-south-2b, eu-south-2c)."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 range of the VPC; must not overlap a network it will be peered or VPN-connected with (the clinic's offices)."

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (cheaper, staging) instead of one per zone (a zone's loss does not cut the others off, prod)."
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the EKS cluster."

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "Use a minor version such as 1.34."
  }
}

variable "eks_public_access_cidrs" {
  type        = list(string)
  description = "CIDRs (the IT provider's VPN or office egress) allowed to reach the Kubernetes API from the internet. Empty keeps the API private to the VPC."

  validation {
    condition     = alltrue([for c in var.eks_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Valid IPv4 CIDRs only, never 0.0.0.0/0."
  }
}

variable "eks_admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin on EKS (the deploy pipeline's role, the operators' role)."

  validation {
    condition     = alltrue([for a in var.eks_admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "Each entry must be an IAM role ARN."
  }
}

# --- EKS nodes -----------------------------------------------------------------------------

variable "node_instance_types" {
  type        = list(string)
  description = "EC2 instance types of the EKS nodes."
}

variable "node_min_size" {
  type        = number
  description = "Fewest EKS nodes (two or more keeps the API's PodDisruptionBudget satisfiable while a node is replaced)."
}

variable "node_desired_size" {
  type        = number
  description = "EKS nodes at creation (afterwards the cluster autoscaler, if installed, owns the number)."
}

variable "node_max_size" {
  type        = number
  description = "Most EKS nodes the group may grow to."
}

# --- PostgreSQL (RDS), the event store ----------------------------------------------------

variable "rds_instance_class" {
  type        = string
  description = "Instance class of the PostgreSQL event store."
}

variable "rds_multi_az" {
  type        = bool
  description = "Synchronous PostgreSQL standby in another zone with automatic failover (prod); staging may save the cost."
}

variable "rds_backup_retention_days" {
  type        = number
  description = "Days of PostgreSQL automated backups, which is also how far back point-in-time recovery reaches (7 to 35)."
}

variable "rds_allocated_storage_gb" {
  type        = number
  description = "Initial gp3 storage of PostgreSQL in GiB (at least 20)."
}

variable "rds_max_allocated_storage_gb" {
  type        = number
  description = "PostgreSQL storage autoscaling ceiling in GiB: the event store only grows, and a full disk stops every write."
}

# --- RabbitMQ (Amazon MQ) ------------------------------------------------------------------

variable "mq_deployment_mode" {
  type        = string
  description = "Amazon MQ deployment: CLUSTER_MULTI_AZ (three nodes in three zones, prod) or SINGLE_INSTANCE (staging)."
}

variable "mq_instance_type" {
  type        = string
  description = "Amazon MQ broker instance type (clusters need mq.m5.large or larger)."
  default     = "mq.m5.large"
}

# --- DocumentDB, the read models -----------------------------------------------------------

variable "docdb_instance_class" {
  type        = string
  description = "Instance class of the DocumentDB instances."
}

variable "docdb_instance_count" {
  type        = number
  description = "DocumentDB instances: one primary and the rest replicas, spread over zones (3 for prod, 1 for staging)."
}

variable "docdb_backup_retention_days" {
  type        = number
  description = "Days of DocumentDB continuous backups (point-in-time restore window, 7 to 35)."
}

# --- Image and secret ----------------------------------------------------------------------

variable "ecr_repository_name" {
  type        = string
  description = "Name of the ECR repository for the one Sonrisa image (sonrisa for prod, sonrisa-<environment> elsewhere)."
}

variable "app_secret_name" {
  type        = string
  description = "Secrets Manager secret synced into the Kubernetes Secret sonrisa-secrets."

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,512}$", var.app_secret_name))
    error_message = "Secrets Manager names use letters, digits and /_+=.@-."
  }
}
