//! WeCom (企业微信): the WXBizMsgCrypt scheme shared by 智能机器人 and app
//! callbacks (and DingTalk's optional callback encryption).

pub mod crypto;
pub mod xml;
