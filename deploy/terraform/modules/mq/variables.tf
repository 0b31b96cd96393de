variable "name" {
  type        = string
  description = "Name of the broker, e.g. sonrisa-prod-mq."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,50}$", var.name))
    error_message = "Broker names are 1-50 letters, digits, hyphens or underscores."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the broker."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets. A cluster uses all of them (one node per zone); a single instance uses the first."

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "Give at least one private subnet."
  }
}

variable "client_security_group_id" {
  type        = string
  description = "Security group of the EKS nodes: the only source allowed to connect over AMQPS."
}

variable "deployment_mode" {
  type        = string
  description = "CLUSTER_MULTI_AZ (three nodes in three zones; quorum queues survive a zone) for prod, SINGLE_INSTANCE for staging."
  default     = "CLUSTER_MULTI_AZ"

  validation {
    condition     = contains(["CLUSTER_MULTI_AZ", "SINGLE_INSTANCE"], var.deployment_mode)
    error_message = "Amazon MQ for RabbitMQ supports CLUSTER_MULTI_AZ or SINGLE_INSTANCE."
  }
}

variable "instance_type" {
  type        = string
  description = "Broker instance type (clusters need mq.m5.large or larger)."
  default     = "mq.m5.large"

  validation {
    condition     = startswith(var.instance_type, "mq.")
    error_message = "Amazon MQ instance types start with mq."
  }
}

variable "engine_version" {
  type        = string
  description = "RabbitMQ version; Sonrisa is built against 3.13 (quorum queues, single active consumer)."
  default     = "3.13"

  validation {
    condition     = startswith(var.engine_version, "3.13")
    error_message = "Sonrisa is built and tested on RabbitMQ 3.13."
  }
}

variable "admin_username" {
  type        = string
  description = "Administrator created with the broker. Use it only to create the application's own user (deploy/terraform/README.md)."
  default     = "sonrisa_admin"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.~-]{2,100}$", var.admin_username)) && !startswith(var.admin_username, "guest")
    error_message = "2-100 of letters, digits and _.~- ; guest is not allowed."
  }
}

variable "credentials_kms_key_arn" {
  type        = string
  description = "Customer managed key encrypting the Secrets Manager secret that holds the admin credentials."
}
