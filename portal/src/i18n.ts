// Every label of the portal, in one catalogue: Chinese by default, English switchable.
const zh = {
  appTitle: "标准化试点申报", skip: "跳到正文", language: "English", languageLabel: "切换语言",
  signIn: "登录", signOut: "退出", username: "用户名", password: "密码", signedInAs: "当前用户",
  loading: "加载中…", saved: "已保存", save: "保存本节", error: "出错了", none: "暂无",
  home: "首页", applications: "我的申请", newApplication: "新建申请", call: "征集批次", state: "状态", all: "全部",
  filter: "筛选", open: "打开", title: "项目名称", domainArea: "领域（如 1.1）", domainItem: "方向（如 1.1.3）",
  recommender: "推荐单位", participating: "参加单位", guarantor: "保证单位", guidance: "业务指导单位",
  create: "创建", basic: "基本信息", contact: "联系人", contactName: "姓名", phone: "电话", email: "电子邮箱",
  period: "试点期限", start: "开始日期", end: "结束日期", sections: "申请书正文", funding: "经费",
  amount: "金额（元）", sources: "经费来源", eligibility: "申报条件", attest: "符合条件",
  validation: "完整性检查", valid: "可以提交", invalid: "尚不能提交", attachments: "附件", kind: "附件类型",
  dropHere: "拖放文件到此处，或选择文件", upload: "上传", uploading: "上传中", submit: "提交", formPdf: "查看申请书 PDF",
  signOffs: "各方签章进度", role: "角色", status: "状态", mode: "方式", verification: "核验",
  awaiting: "待本单位签章", digest: "内容摘要", decision: "意见", agree: "同意", disagree: "不同意",
  opinion: "签署意见", signatoryName: "签署人", signatoryTitle: "职务", signOnline: "在线签章", signPaper: "上传盖章页（纸质签章）",
  queue: "审核队列", verify: "核验纸质签章", confirmed: "一致", rejected: "不一致", recommend: "推荐", returnIt: "退回",
  reject: "不予推荐", list: "推荐名单", quota: "名额", deadline: "截止时间（北京时间）", remaining: "剩余",
  moveUp: "上移", moveDown: "下移", add: "加入名单", remove: "移出", saveList: "保存名单", submitList: "提交名单",
  newList: "新建名单", rank: "序号", receiptPdf: "回执 PDF", listPdf: "名单 PDF", packageZip: "电子版 ZIP",
  tracking: "受理编号", submittedAt: "提交时间", incoming: "收到的名单", acknowledge: "受理", outcome: "结果",
  approve: "批准", documentNumber: "文号", summary: "汇总", byProvince: "按推荐单位",
  byField: "按领域", byState: "按状态", organizations: "组织机构", creditCode: "统一社会信用代码",
  creditValid: "校验通过", creditMalformed: "格式不正确（18 位，不含 I、O、S、V、Z）", creditBadCheck: "校验码不正确",
  name: "名称", province: "省份代码", orgKind: "类型", users: "用户与角色", roles: "角色", displayName: "显示名称",
  organization: "所属单位", apiKeys: "API 密钥", keyName: "名称", keyShownOnce: "请立即复制，此密钥只显示一次：",
  revoke: "吊销", comment: "说明", items: "申请数", actions: "操作", back: "返回", notFound: "页面不存在",
  roleApplicant: "申报单位", roleSignatory: "签章人", roleReviewer: "省级审核", roleOffice: "联席办公室", roleAdmin: "管理员",
  fileTooLarge: "文件过大", fileType: "不支持的文件类型",
  standards: "标准明细", standardCode: "标准编号", standardTitle: "标准名称", standardLevel: "标准层级", standardStatus: "标准状态",
  addStandard: "增加一行",
  decline: "不予批准", verifyTitle: "纸质签章核验", viewPage: "查看盖章页", verifyComment: "核验意见", confirmPaper: "确认一致",
  rejectPaper: "驳回（不一致）", reasonRequired: "驳回须说明理由", reviewOpinion: "审核意见", review: "审核",
  returnComment: "退回意见", returnedBy: "联席办公室退回意见", reorderHint: "选中一行后按 Alt+↑ / Alt+↓ 调整顺序",
  movedTo: "已移至第 {n} 位", paperSignOffs: "待核验纸质签章", noPaper: "无纸质签章", party: "签章单位",
  keyHint: "密钥前缀", defaultOpinion: "同意申报", left: "{d} 天 {h} 小时 {m} 分", revokedAt: "吊销时间",
  "kind.application_form_scan": "申请书盖章扫描件", "kind.paper_endorsement": "纸质会签盖章页", "kind.implementation_plan": "实施方案",
  "kind.standards_table": "标准明细表", "kind.evidence": "证明材料", "kind.other": "其他材料",
  "state.draft": "草稿", "state.endorsing": "签章中", "state.provincial_review": "推荐单位审核", "state.recommended": "已推荐",
  "state.submitted": "已报送", "state.approved": "已批准", "state.not_approved": "不予批准", "state.returned": "退回修改",
  "state.rejected": "不予推荐", "state.withdrawn": "已撤回",
  "batch.open": "编制中", "batch.submitted": "已报送", "batch.acknowledged": "已受理", "batch.returned": "已退回",
  "party.undertaking": "承担单位", "party.participating": "参加单位", "party.guarantor": "保证单位", "party.guidance": "业务指导单位",
  "signoff.pending": "待签", "signoff.agreed": "同意", "signoff.disagreed": "不同意",
  "mode.online": "在线签署", "mode.paper": "纸质盖章页",
  "verification.pending": "待核验", "verification.confirmed": "一致", "verification.rejected": "不一致",
  "role.applicant": "申报人", "role.signatory": "签署人", "role.reviewer": "审核人", "role.office": "联席会议办公室人员", "role.admin": "管理员",
  "orgkind.government_agency": "机关", "orgkind.public_institution": "事业单位", "orgkind.enterprise": "企业",
  "orgkind.social_organization": "社会组织",
  "level.national": "国家标准", "level.sector": "行业标准", "level.local": "地方标准", "level.group": "团体标准", "level.enterprise": "企业标准",
  "standard.existing": "现行", "standard.to_be_drafted": "待制定",
};

export type Key = keyof typeof zh;

const en: Record<Key, string> = {
  appTitle: "Standardization pilot submissions", skip: "Skip to content", language: "中文", languageLabel: "Switch language",
  signIn: "Sign in", signOut: "Sign out", username: "Username", password: "Password", signedInAs: "Signed in as",
  loading: "Loading…", saved: "Saved", save: "Save this section", error: "Something went wrong", none: "None",
  home: "Home", applications: "My applications", newApplication: "New application", call: "Call", state: "State", all: "All",
  filter: "Filter", open: "Open", title: "Title", domainArea: "Area (e.g. 1.1)", domainItem: "Item (e.g. 1.1.3)",
  recommender: "Recommender", participating: "Participating unit", guarantor: "Guarantor", guidance: "Guidance unit",
  create: "Create", basic: "Basic information", contact: "Contact", contactName: "Name", phone: "Phone", email: "Email",
  period: "Pilot period", start: "Start", end: "End", sections: "Form sections", funding: "Funding",
  amount: "Amount (CNY)", sources: "Sources", eligibility: "Eligibility", attest: "Meets the condition",
  validation: "Completeness check", valid: "Ready to submit", invalid: "Not ready to submit", attachments: "Attachments", kind: "Kind",
  dropHere: "Drop a file here, or choose one", upload: "Upload", uploading: "Uploading", submit: "Submit", formPdf: "Open form PDF",
  signOffs: "Sign-off progress", role: "Role", status: "Status", mode: "Mode", verification: "Verification",
  awaiting: "Awaiting my organization's sign-off", digest: "Content digest", decision: "Decision", agree: "Agree", disagree: "Disagree",
  opinion: "Opinion", signatoryName: "Signatory", signatoryTitle: "Title", signOnline: "Sign online", signPaper: "Upload the stamped page (paper)",
  queue: "Review queue", verify: "Verify paper sign-off", confirmed: "Matches", rejected: "Does not match", recommend: "Recommend", returnIt: "Return",
  reject: "Reject", list: "Recommended list", quota: "Quota", deadline: "Deadline (Beijing time)", remaining: "Remaining",
  moveUp: "Move up", moveDown: "Move down", add: "Add to list", remove: "Remove", saveList: "Save list", submitList: "Submit list",
  newList: "New list", rank: "Rank", receiptPdf: "Receipt PDF", listPdf: "List PDF", packageZip: "Package ZIP",
  tracking: "Tracking number", submittedAt: "Submitted at", incoming: "Incoming lists", acknowledge: "Acknowledge", outcome: "Outcome",
  approve: "Approve", documentNumber: "Document number", summary: "Summary", byProvince: "By recommender",
  byField: "By field", byState: "By state", organizations: "Organizations", creditCode: "Unified social credit code",
  creditValid: "Check passed", creditMalformed: "Malformed (18 characters, no I, O, S, V, Z)", creditBadCheck: "Wrong check character",
  name: "Name", province: "Province code", orgKind: "Kind", users: "Users and roles", roles: "Roles", displayName: "Display name",
  organization: "Organization", apiKeys: "API keys", keyName: "Name", keyShownOnce: "Copy it now, this key is shown only once:",
  revoke: "Revoke", comment: "Comment", items: "Applications", actions: "Actions", back: "Back", notFound: "No such page",
  roleApplicant: "Applicant", roleSignatory: "Signatory", roleReviewer: "Provincial reviewer", roleOffice: "Joint office", roleAdmin: "Administrator",
  fileTooLarge: "File too large", fileType: "Unsupported file type",
  standards: "Standards", standardCode: "Standard code", standardTitle: "Standard title", standardLevel: "Level", standardStatus: "Status",
  addStandard: "Add a row",
  decline: "Not approved", verifyTitle: "Paper sign-off verification", viewPage: "Open the stamped page", verifyComment: "Verification comment",
  confirmPaper: "Confirm: matches", rejectPaper: "Reject: does not match", reasonRequired: "Give the reason to reject",
  reviewOpinion: "Review opinion", review: "Review",
  returnComment: "Reason to return", returnedBy: "Returned by the joint office", reorderHint: "Focus a row and press Alt+↑ / Alt+↓ to move it",
  movedTo: "Moved to rank {n}", paperSignOffs: "Paper sign-offs to verify", noPaper: "No paper sign-off", party: "Party",
  keyHint: "Key prefix", defaultOpinion: "Agreed to apply", left: "{d} d {h} h {m} min", revokedAt: "Revoked at",
  "kind.application_form_scan": "Stamped application form scan", "kind.paper_endorsement": "Stamped paper sign-off page",
  "kind.implementation_plan": "Implementation plan", "kind.standards_table": "Standards table", "kind.evidence": "Supporting evidence",
  "kind.other": "Other material",
  "state.draft": "Draft", "state.endorsing": "Signing off", "state.provincial_review": "Recommender review", "state.recommended": "Recommended",
  "state.submitted": "Submitted", "state.approved": "Approved", "state.not_approved": "Not approved", "state.returned": "Returned",
  "state.rejected": "Rejected", "state.withdrawn": "Withdrawn",
  "batch.open": "Open", "batch.submitted": "Submitted", "batch.acknowledged": "Acknowledged", "batch.returned": "Returned",
  "party.undertaking": "Undertaking unit", "party.participating": "Participating unit", "party.guarantor": "Guarantor",
  "party.guidance": "Guidance unit",
  "signoff.pending": "Pending", "signoff.agreed": "Agreed", "signoff.disagreed": "Disagreed",
  "mode.online": "Online", "mode.paper": "Paper",
  "verification.pending": "Pending", "verification.confirmed": "Matches", "verification.rejected": "Does not match",
  "role.applicant": "Applicant", "role.signatory": "Signatory", "role.reviewer": "Reviewer", "role.office": "Joint office staff",
  "role.admin": "Administrator",
  "orgkind.government_agency": "Government agency", "orgkind.public_institution": "Public institution", "orgkind.enterprise": "Enterprise",
  "orgkind.social_organization": "Social organization",
  "level.national": "National", "level.sector": "Sector", "level.local": "Local", "level.group": "Group", "level.enterprise": "Enterprise",
  "standard.existing": "Existing", "standard.to_be_drafted": "To be drafted",
};

const LANGUAGE_KEY = "smps.language";
export type Language = "zh-CN" | "en";

export function language(): Language {
  return localStorage.getItem(LANGUAGE_KEY) === "en" ? "en" : "zh-CN";
}

export function setLanguage(value: Language): void {
  localStorage.setItem(LANGUAGE_KEY, value);
  document.documentElement.lang = value;
}

export function t(key: Key, values: Record<string, string | number> = {}): string {
  const text = language() === "en" ? en[key] : zh[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => String(values[name] ?? whole));
}

function isKey(key: string): key is Key {
  return Object.prototype.hasOwnProperty.call(zh, key);
}

/** A coded value's label (an attachment kind, a state, a role…): the catalogue's, else the code itself. */
export type Group = "kind" | "state" | "batch" | "party" | "signoff" | "mode" | "verification" | "role" | "orgkind" | "level" | "standard";
export function labelOf(group: Group, code: string | null | undefined): string {
  if (code === null || code === undefined) return "—";
  const key = `${group}.${code}`;
  return isKey(key) ? t(key) : code;
}
