variable "region" {
  type        = string
  description = "AWS region. Patient data is health data under the GDPR: keep it in the EU (eu-south-2 is Spain)."
  default     = "eu-south-2"

  validation {
    condition     = can(regex("^eu-(south|west|central|north)-[0-9]$", var.region))
    error_message = "Sonrisa holds Spanish patients' health data: use an EU region (eu-*)."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Three zones of the region, named so the subnet layout is fixed (zone names map to different physical zones in each account; that does not matter here)."
  default     = ["eu-south-2a", "eu-south-2b", "eu-south-2c"]

  validation {
    condition     = length(var.availability_zones) == 3 && alltrue([for z in var.availability_zones : startswith(z, var.region)])
    error_message = "Give three zones of the chosen region (e.g. eu-south-2a, eu-south-2b, eu-south-2c)."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 range of the VPC; must not overlap a network it will be peered or VPN-connected with (the clinic's offices)."
  default     = "10.21.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the EKS cluster."
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "Use a minor version such as 1.34."
  }
}

variable "eks_public_access_cidrs" {
  type        = list(string)
  description = "CIDRs (the IT provider's VPN or office egress) allowed to reach the Kubernetes API from the internet. Empty keeps the API private to the VPC."
  default     = []

  validation {
    condition     = alltrue([for c in var.eks_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Valid IPv4 CIDRs only, never 0.0.0.0/0."
  }
}

variable "eks_admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin on EKS (the deploy pipeline's role, the operators' role)."
  default     = []

  validation {
    condition     = alltrue([for a in var.eks_admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "Each entry must be an IAM role ARN."
  }
}

variable "node_instance_types" {
  type        = list(string)
  description = "EC2 instance types of the EKS nodes."
  default     = ["t3.large"]
}

variable "rds_instance_class" {
  type        = string
  description = "Instance class of the PostgreSQL event store."
  default     = "db.t4g.medium"
}

variable "docdb_instance_class" {
  type        = string
  description = "Instance class of the DocumentDB instances."
  default     = "db.t4g.medium"
}

variable "app_secret_name" {
  type        = string
  description = "Secrets Manager secret synced into the Kubernetes Secret sonrisa-secrets."
  default     = "sonrisa/staging/app"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,512}$", var.app_secret_name))
    error_message = "Secrets Manager names use letters, digits and /_+=.@-."
  }
}
