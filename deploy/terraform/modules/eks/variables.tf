variable "cluster_name" {
  type        = string
  description = "Name of the EKS cluster (terraform output eks_cluster_name; `aws eks update-kubeconfig --name` takes it)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,99}$", var.cluster_name))
    error_message = "Cluster names are 1-100 letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the control plane and nodes. Keep it equal to the version the manifests are validated against."
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.(2[89]|3[0-9])$", var.kubernetes_version))
    error_message = "Use a minor version such as 1.34 that EKS still supports."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC the cluster and its nodes live in."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the control-plane network interfaces and the nodes (at least two zones)."

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the Kubernetes API from the internet (e.g. the IT provider's office or VPN egress). Empty (the default) turns the public endpoint off: the API is then reachable only from inside the VPC."
  default     = []

  validation {
    condition = alltrue([
      for cidr in var.public_access_cidrs :
      can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0" && tonumber(split("/", cidr)[1]) >= 16
    ])
    error_message = "Each entry must be a valid IPv4 CIDR of /16 or narrower; 0.0.0.0/0 would open the API server to the internet."
  }
}

variable "admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin through EKS access entries (the deploy pipeline's role, the operators' role). The identity that runs terraform apply is admin as well."
  default     = []
}

variable "node_instance_types" {
  type        = list(string)
  description = "EC2 instance types of the managed node group."
  default     = ["m6i.large"]

  validation {
    condition     = length(var.node_instance_types) > 0
    error_message = "Give at least one instance type."
  }
}

variable "node_min_size" {
  type        = number
  description = "Fewest nodes. Two or more keeps the API's PodDisruptionBudget satisfiable while a node is replaced."
  default     = 2

  validation {
    condition     = var.node_min_size >= 1
    error_message = "At least one node."
  }
}

variable "node_desired_size" {
  type        = number
  description = "Nodes at creation; afterwards the cluster autoscaler (if installed) owns the number, so terraform ignores changes to it."
  default     = 3
}

variable "node_max_size" {
  type        = number
  description = "Most nodes the group may grow to."
  default     = 6

  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size <= 100
    error_message = "Between 1 and 100 nodes."
  }
}

variable "node_disk_size_gb" {
  type        = number
  description = "Root volume of each node in GiB (images, container logs, the API's emptyDir for held access-log entries)."
  default     = 50

  validation {
    condition     = var.node_disk_size_gb >= 20 && var.node_disk_size_gb <= 1000
    error_message = "Between 20 and 1000 GiB."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the control-plane logs (audit log included)."
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Keep at least a year (365), in a retention CloudWatch accepts."
  }
}

variable "secret_reader_namespace" {
  type        = string
  description = "Namespace of the service account that syncs Secrets Manager into the Kubernetes Secret sonrisa-secrets (External Secrets Operator's default)."
  default     = "external-secrets"
}

variable "secret_reader_service_account" {
  type        = string
  description = "Service account that syncs Secrets Manager into the Kubernetes Secret sonrisa-secrets; it gets the secret reader role through EKS Pod Identity."
  default     = "external-secrets"
}

variable "secret_reader_policy_arn" {
  type        = string
  description = "IAM policy (from the secrets module) that reads the application secret and nothing else."
}
