"""Payout gateways: one interface (``base.PayoutGateway``) over WeChat Pay, Alipay and bank batch files."""
