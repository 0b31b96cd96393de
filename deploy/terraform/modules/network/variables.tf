variable "name" {
  type        = string
  description = "Name prefix for every resource, e.g. sonrisa-prod."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "Use 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 range of the VPC. A /16 leaves room for the EKS VPC CNI, which gives every pod an address from the private subnets."
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 18
    error_message = "vpc_cidr must be a valid IPv4 CIDR of /18 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Zones that get one private and one public subnet each, named explicitly so the layout never changes when AWS adds a zone to the region."

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "Give 2 or 3 distinct zones (RDS Multi-AZ and DocumentDB need at least 2; the address plan has room for 3)."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (cheaper, for staging) instead of one per zone (survives the loss of a zone, for prod)."
  default     = false
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the VPC flow logs."
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "Keep flow logs at least a year (365) and use a retention CloudWatch accepts: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "eks_cluster_name" {
  type        = string
  description = "Name of the EKS cluster that will use the subnets; tags them so the AWS Load Balancer Controller finds them."
}
