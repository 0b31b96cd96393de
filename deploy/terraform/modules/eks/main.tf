data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # All five control-plane log types: the audit log records who read which Secret and
  # who exec'd into which pod, which an access review of health data asks for.
  log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
}

# ---- IAM ----

resource "aws_iam_role" "cluster" {
  name = "${var.cluster_name}-cluster"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_iam_role" "nodes" {
  name = "${var.cluster_name}-nodes"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# The minimum AWS documents for managed nodes: join the cluster, run the VPC CNI, pull
# images from ECR. No SSM, no SSH: nodes are replaced, not logged into.
resource "aws_iam_role_policy_attachment" "nodes" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ])

  role       = aws_iam_role.nodes.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

# ---- Keys and the control-plane log group ----

module "secrets_key" {
  source = "../kms"

  name           = "${var.cluster_name}-eks-secrets"
  description    = "Envelope encryption of Kubernetes Secrets in ${var.cluster_name} (sonrisa-secrets holds the app's keys)."
  user_role_arns = [aws_iam_role.cluster.arn]
}

module "logs_key" {
  source = "../kms"

  name                = "${var.cluster_name}-eks-logs"
  description         = "Encrypts the control-plane logs of ${var.cluster_name}."
  for_cloudwatch_logs = true
}

# EKS writes to this exact name; creating it first sets retention and encryption
# (otherwise EKS creates it unencrypted and kept forever).
resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${var.cluster_name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.key_arn
}

# ---- Cluster ----

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  enabled_cluster_log_types = local.log_types

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    # Public endpoint only when someone is named to use it, and then only from their CIDRs.
    endpoint_public_access = length(var.public_access_cidrs) > 0
    public_access_cidrs    = length(var.public_access_cidrs) > 0 ? var.public_access_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = module.secrets_key.key_arn
    }
  }

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_cloudwatch_log_group.cluster,
  ]
}

resource "aws_eks_access_entry" "admins" {
  for_each = toset(var.admin_role_arns)

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
}

resource "aws_eks_access_policy_association" "admins" {
  for_each = toset(var.admin_role_arns)

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }

  depends_on = [aws_eks_access_entry.admins]
}

# ---- Nodes ----

# The data services (RDS, Amazon MQ, DocumentDB) accept connections only from this group.
# It carries no rules of its own: the EKS cluster security group, attached beside it,
# already lets nodes talk to each other and to the control plane.
resource "aws_security_group" "nodes" {
  name        = "${var.cluster_name}-nodes"
  description = "Identifies the EKS worker nodes of ${var.cluster_name}; data services trust it"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.cluster_name}-nodes" }
}

resource "aws_launch_template" "nodes" {
  name_prefix            = "${var.cluster_name}-nodes-"
  update_default_version = true
  vpc_security_group_ids = [
    aws_eks_cluster.this.vpc_config[0].cluster_security_group_id,
    aws_security_group.nodes.id,
  ]

  # IMDSv2 only, one hop: pods cannot borrow the node's role from the metadata service;
  # workloads that need AWS get their own role through EKS Pod Identity.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Encrypted with the account's EBS key (aws/ebs). A customer managed key here needs the
  # AWSServiceRoleForAutoScaling role named in its policy, which does not exist in a fresh
  # account; the node disk holds images, logs and emptyDirs, not the databases.
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.node_disk_size_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.cluster_name}-node" }
  }
}

resource "aws_eks_node_group" "default" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "default"
  node_role_arn   = aws_iam_role.nodes.arn
  subnet_ids      = var.subnet_ids
  ami_type        = "AL2023_x86_64_STANDARD"
  capacity_type   = "ON_DEMAND"
  instance_types  = var.node_instance_types

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }

  scaling_config {
    min_size     = var.node_min_size
    desired_size = var.node_desired_size
    max_size     = var.node_max_size
  }

  # One node at a time, so the API's PodDisruptionBudget and the relay's standby hold.
  update_config {
    max_unavailable = 1
  }

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.nodes]
}

# ---- Add-ons ----

# The VPC CNI enforces Kubernetes NetworkPolicies only with its network policy agent on:
# without this the overlay's NetworkPolicies would be accepted and silently ignored.
resource "aws_eks_addon" "vpc_cni" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "vpc-cni"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "PRESERVE"
  configuration_values        = jsonencode({ enableNetworkPolicy = "true" })
}

resource "aws_eks_addon" "pod_identity_agent" {
  cluster_name = aws_eks_cluster.this.name
  addon_name   = "eks-pod-identity-agent"

  depends_on = [aws_eks_node_group.default]
}

# The role the secret syncer uses to read the application secret (and only that).
resource "aws_iam_role" "secret_reader" {
  name = "${var.cluster_name}-secret-reader"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "secret_reader" {
  role       = aws_iam_role.secret_reader.name
  policy_arn = var.secret_reader_policy_arn
}

resource "aws_eks_pod_identity_association" "secret_reader" {
  cluster_name    = aws_eks_cluster.this.name
  namespace       = var.secret_reader_namespace
  service_account = var.secret_reader_service_account
  role_arn        = aws_iam_role.secret_reader.arn
}
