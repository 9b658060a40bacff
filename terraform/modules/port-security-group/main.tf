# A security group admitting one TCP port from the given security groups only
# (one ingress rule each) and nothing else: no CIDR ingress, no egress rule.

resource "aws_security_group" "this" {
  name        = var.name
  description = var.description
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  count = length(var.source_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = var.rule_description
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = var.source_security_group_ids[count.index]

  tags = var.tags
}
